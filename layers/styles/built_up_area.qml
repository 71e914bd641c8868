<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- flaechen: Im Zusammenhang bebaute Ortsteile (built_up_area): dashed outlines by kind of boundary -->
<qgis version="3.22.0-Białowieża" styleCategories="Symbology|Labeling" labelsEnabled="0" hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0">
 <renderer-v2 type="categorizedSymbol" attr="kind" symbollevels="0" enableorderby="0" forceraster="0" referencescale="-1">
  <categories>
   <category render="true" value="ortslage" symbol="0" label="Ortslage" type="string"/>
   <category render="true" value="satzung" symbol="1" label="Innenbereichssatzung" type="string"/>
   <category render="true" value="paragraph34" symbol="2" label="Innenbereich (§ 34 BauGB)" type="string"/>
   <category render="true" value="other" symbol="3" label="Sonstige Abgrenzung" type="string"/>
   <category render="true" value="" symbol="4" label="ohne Angabe" type="string"/>
  </categories>
  <symbols>
   <symbol name="0" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="255,255,255,0" type="QString"/>
      <Option name="joinstyle" value="bevel" type="QString"/>
      <Option name="offset" value="0,0" type="QString"/>
      <Option name="offset_unit" value="MM" type="QString"/>
      <Option name="outline_color" value="214,96,77,255" type="QString"/>
      <Option name="outline_style" value="dash" type="QString"/>
      <Option name="outline_width" value="0.6" type="QString"/>
      <Option name="outline_width_unit" value="MM" type="QString"/>
      <Option name="style" value="no" type="QString"/>
     </Option>
    </layer>
   </symbol>
   <symbol name="1" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="255,255,255,0" type="QString"/>
      <Option name="joinstyle" value="bevel" type="QString"/>
      <Option name="offset" value="0,0" type="QString"/>
      <Option name="offset_unit" value="MM" type="QString"/>
      <Option name="outline_color" value="178,24,43,255" type="QString"/>
      <Option name="outline_style" value="dash" type="QString"/>
      <Option name="outline_width" value="0.6" type="QString"/>
      <Option name="outline_width_unit" value="MM" type="QString"/>
      <Option name="style" value="no" type="QString"/>
     </Option>
    </layer>
   </symbol>
   <symbol name="2" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="255,255,255,0" type="QString"/>
      <Option name="joinstyle" value="bevel" type="QString"/>
      <Option name="offset" value="0,0" type="QString"/>
      <Option name="offset_unit" value="MM" type="QString"/>
      <Option name="outline_color" value="244,109,67,255" type="QString"/>
      <Option name="outline_style" value="dash" type="QString"/>
      <Option name="outline_width" value="0.6" type="QString"/>
      <Option name="outline_width_unit" value="MM" type="QString"/>
      <Option name="style" value="no" type="QString"/>
     </Option>
    </layer>
   </symbol>
   <symbol name="3" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="255,255,255,0" type="QString"/>
      <Option name="joinstyle" value="bevel" type="QString"/>
      <Option name="offset" value="0,0" type="QString"/>
      <Option name="offset_unit" value="MM" type="QString"/>
      <Option name="outline_color" value="120,120,120,255" type="QString"/>
      <Option name="outline_style" value="dash" type="QString"/>
      <Option name="outline_width" value="0.6" type="QString"/>
      <Option name="outline_width_unit" value="MM" type="QString"/>
      <Option name="style" value="no" type="QString"/>
     </Option>
    </layer>
   </symbol>
   <symbol name="4" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="255,255,255,0" type="QString"/>
      <Option name="joinstyle" value="bevel" type="QString"/>
      <Option name="offset" value="0,0" type="QString"/>
      <Option name="offset_unit" value="MM" type="QString"/>
      <Option name="outline_color" value="120,120,120,255" type="QString"/>
      <Option name="outline_style" value="dash" type="QString"/>
      <Option name="outline_width" value="0.6" type="QString"/>
      <Option name="outline_width_unit" value="MM" type="QString"/>
      <Option name="style" value="no" type="QString"/>
     </Option>
    </layer>
   </symbol>
  </symbols>
  <source-symbol>
   <symbol name="0" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="255,255,255,0" type="QString"/>
      <Option name="joinstyle" value="bevel" type="QString"/>
      <Option name="offset" value="0,0" type="QString"/>
      <Option name="offset_unit" value="MM" type="QString"/>
      <Option name="outline_color" value="178,24,43,255" type="QString"/>
      <Option name="outline_style" value="dash" type="QString"/>
      <Option name="outline_width" value="0.6" type="QString"/>
      <Option name="outline_width_unit" value="MM" type="QString"/>
      <Option name="style" value="no" type="QString"/>
     </Option>
    </layer>
   </symbol>
  </source-symbol>
  <rotation/>
  <sizescale/>
 </renderer-v2>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerOpacity>1</layerOpacity>
 <layerGeometryType>2</layerGeometryType>
</qgis>
