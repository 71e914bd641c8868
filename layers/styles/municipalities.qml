<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- flaechen: Gemeinden (municipalities): boundaries as outlines, labelled with the name -->
<qgis version="3.22.0-Białowieża" styleCategories="Symbology|Labeling" labelsEnabled="1" hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0">
 <renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0" referencescale="-1">
  <symbols>
   <symbol name="0" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="255,255,255,0" type="QString"/>
      <Option name="joinstyle" value="bevel" type="QString"/>
      <Option name="offset" value="0,0" type="QString"/>
      <Option name="offset_unit" value="MM" type="QString"/>
      <Option name="outline_color" value="70,70,70,255" type="QString"/>
      <Option name="outline_style" value="dash" type="QString"/>
      <Option name="outline_width" value="0.8" type="QString"/>
      <Option name="outline_width_unit" value="MM" type="QString"/>
      <Option name="style" value="no" type="QString"/>
     </Option>
    </layer>
   </symbol>
  </symbols>
  <rotation/>
  <sizescale/>
 </renderer-v2>
 <labeling type="simple">
  <settings calloutType="simple">
   <text-style fieldName="name" isExpression="0" fontFamily="Sans Serif" namedStyle="Bold" fontWeight="75" fontItalic="0" fontSize="11" fontSizeUnit="Point" textColor="60,60,60,255" textOpacity="1" fontCapitals="0" fontLetterSpacing="0" fontWordSpacing="0" multilineHeight="1" blendMode="0" previewBkgrdColor="255,255,255,255" allowHtml="0">
    <text-buffer bufferDraw="1" bufferSize="1" bufferSizeUnits="MM" bufferColor="255,255,255,255" bufferOpacity="0.8" bufferNoFill="1" bufferJoinStyle="128" bufferBlendMode="0"/>
    <text-mask maskEnabled="0"/>
    <background shapeDraw="0"/>
    <shadow shadowDraw="0"/>
   </text-style>
   <text-format wrapChar="" autoWrapLength="0" multilineAlign="3" plussign="0" reverseDirectionSymbol="0" addDirectionSymbol="0" formatNumbers="0" decimals="3" placeDirectionSymbol="0" useMaxLineLengthForAutoWrap="1" leftDirectionSymbol="&lt;" rightDirectionSymbol="&gt;"/>
   <placement placement="1" placementFlags="10" centroidWhole="1" centroidInside="1" fitInPolygonOnly="0" dist="0" distUnits="MM" offsetType="0" quadOffset="4" xOffset="0" yOffset="0" offsetUnits="MM" priority="5" overrunDistance="0" overrunDistanceUnit="MM" repeatDistance="0" repeatDistanceUnits="MM" maxCurvedCharAngleIn="25" maxCurvedCharAngleOut="-25" rotationAngle="0" preserveRotation="1" labelOffsetMapUnitScale="3x:0,0,0,0,0,0" distMapUnitScale="3x:0,0,0,0,0,0" geometryGenerator="" geometryGeneratorEnabled="0" geometryGeneratorType="PointGeometry" layerType="PolygonGeometry" polygonPlacementFlags="2" lineAnchorPercent="0.5" lineAnchorType="0" lineAnchorClipping="0" overlapHandling="PreventOverlap"/>
   <rendering obstacle="1" obstacleFactor="1" obstacleType="1" displayAll="0" upsidedownLabels="0" labelPerPart="0" mergeLines="0" limitNumLabels="0" maxNumLabels="2000" minFeatureSize="0" drawLabels="1" fontLimitPixelSize="0" fontMinPixelSize="3" fontMaxPixelSize="10000" scaleVisibility="0" scaleMin="0" scaleMax="0" zIndex="10" unplacedVisibility="0"/>
  </settings>
 </labeling>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerOpacity>1</layerOpacity>
 <layerGeometryType>2</layerGeometryType>
</qgis>
